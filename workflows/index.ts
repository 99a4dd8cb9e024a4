// The workflow bundle's entry: every workflow type the worker registers.
export { ping } from './ping.js';
export { batchScoring } from './batch-scoring.js';
export { streamScoring } from './stream-scoring.js';
export { routingController } from './routing-controller.js';
export { rollout } from './rollout.js';
export { batchShadow } from './batch-shadow.js';
export { deliverMonitoringAlert, monitorDeployment } from './monitoring.js';
export { retraining } from './retraining.js';
export { scheduledRetraining } from './retraining-schedule.js';
