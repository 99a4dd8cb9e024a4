/** The batch schedules over HTTP (API key required): list, trigger now, pause, unpause, backfill days. */
import { createRoute, z } from '@hono/zod-openapi';
import {
  backfillSchedule,
  listSchedules,
  pauseSchedule,
  triggerSchedule,
  unpauseSchedule,
} from '../../control/schedules.js';
import type { AppDeps } from '../deps.js';
import { routeGroup } from '../env.js';
import { problems } from '../schemas/predict.js';

const json = <T>(schema: T) => ({ content: { 'application/json': { schema } } });
const secured = { tags: ['schedules'], security: [{ bearer: [] }] };

const IdParams = z.object({
  id: z
    .string()
    .min(1)
    .openapi({ param: { name: 'id', in: 'path' }, example: 'daily-batch-scoring' }),
});
const NoteBody = z.object({ note: z.string().max(500).optional() });
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const BackfillBody = z
  .object({ from: date.openapi({ example: '2021-02-01' }), to: date.openapi({ example: '2021-02-08' }) })
  .refine((b) => b.from < b.to, { path: ['to'], message: 'must be after from' })
  .openapi('BackfillRequest');
const Done = z.object({ scheduleId: z.string(), action: z.string() });

const listRoute = createRoute({
  method: 'get',
  path: '/schedules',
  ...secured,
  summary: 'Schedules with their state and next run times',
  responses: {
    200: {
      description: 'All schedules of the namespace',
      ...json(
        z.object({
          schedules: z.array(
            z.object({
              scheduleId: z.string(),
              paused: z.boolean(),
              note: z.string().nullable(),
              nextActionTimes: z.array(z.string()),
              recentActions: z.array(
                z.object({ scheduledAt: z.string(), workflowId: z.string().nullable() }),
              ),
            }),
          ),
        }),
      ),
    },
    ...problems(401, 503),
  },
});

const action = (name: 'trigger' | 'pause' | 'unpause', summary: string) =>
  createRoute({
    method: 'post',
    path: `/schedules/{id}/${name}`,
    ...secured,
    summary,
    request: { params: IdParams, body: { ...json(NoteBody), required: false } },
    responses: { 202: { description: 'Done', ...json(Done) }, ...problems(400, 401, 404, 503) },
  });

const backfillRoute = createRoute({
  method: 'post',
  path: '/schedules/{id}/backfill',
  ...secured,
  summary: 'Run the schedule once per day partition in [from, to) (dates), one after another',
  request: { params: IdParams, body: { ...json(BackfillBody), required: true } },
  responses: {
    202: {
      description: 'Backfill requested',
      ...json(
        z.object({
          scheduleId: z.string(),
          start: z.string(),
          end: z.string(),
          partitions: z.number().int(),
        }),
      ),
    },
    ...problems(400, 401, 404, 415, 503),
  },
});

export function scheduleRoutes(deps: AppDeps) {
  const client = deps.temporal;
  return routeGroup()
    .openapi(listRoute, async (c) => {
      const schedules = (await listSchedules(client)).map((s) => ({
        scheduleId: s.scheduleId,
        paused: s.state.paused,
        note: s.state.note ?? null,
        nextActionTimes: (s.info?.nextActionTimes ?? []).map((d) => d.toISOString()),
        recentActions: (s.info?.recentActions ?? []).map((a) => ({
          scheduledAt: a.scheduledAt.toISOString(),
          workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : null,
        })),
      }));
      return c.json({ schedules }, 200);
    })
    .openapi(action('trigger', 'Start a run now (it scores yesterday)'), async (c) => {
      const { id } = c.req.valid('param');
      await triggerSchedule(client, id);
      return c.json({ scheduleId: id, action: 'triggered' }, 202);
    })
    .openapi(action('pause', 'Pause the schedule'), async (c) => {
      const { id } = c.req.valid('param');
      await pauseSchedule(client, c.req.valid('json').note ?? 'paused via the API', id);
      return c.json({ scheduleId: id, action: 'paused' }, 202);
    })
    .openapi(action('unpause', 'Unpause the schedule'), async (c) => {
      const { id } = c.req.valid('param');
      await unpauseSchedule(client, c.req.valid('json').note ?? 'unpaused via the API', id);
      return c.json({ scheduleId: id, action: 'unpaused' }, 202);
    })
    .openapi(backfillRoute, async (c) => {
      const { id } = c.req.valid('param');
      const r = await backfillSchedule(client, deps.config, c.req.valid('json'), id);
      return c.json(
        { scheduleId: id, start: r.start.toISOString(), end: r.end.toISOString(), partitions: r.partitions },
        202,
      );
    });
}
