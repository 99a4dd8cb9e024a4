import { describe, expect, it } from 'vitest';
import { machineCpuSeconds, processCpuSeconds } from './proc-cpu.js';

/** Spins this thread until it has used `ms` of CPU (by its own clock, so time the hypervisor takes does not count). */
function spin(ms: number): void {
  const start = process.cpuUsage();
  while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < ms)
    Math.sqrt(Math.random());
}

describe.runIf(process.platform === 'linux')('machine CPU from /proc/stat', () => {
  it('counts this process spinning as busy time, and steal apart from it', () => {
    const before = machineCpuSeconds();
    const ownBefore = processCpuSeconds(process.pid);
    spin(300);
    const after = machineCpuSeconds();
    const own = processCpuSeconds(process.pid) - ownBefore;
    // Ticks are 10 ms: the machine was busy at least as long as this process (which it counts), less a tick each side.
    expect(own).toBeGreaterThanOrEqual(0.28);
    expect(after.busy - before.busy).toBeGreaterThanOrEqual(own - 0.02);
    expect(after.steal).toBeGreaterThanOrEqual(before.steal);
    expect(Number.isFinite(after.steal)).toBe(true);
  });
});
