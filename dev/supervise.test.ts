import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startProcess } from './process.js';
import { CrashTracker, supervise, type CrashDecision } from './supervise.js';

describe('CrashTracker (the restart policy)', () => {
  it('restarts with a doubling delay, capped, and gives up on the 5th crash within 60 s', () => {
    const tracker = new CrashTracker({
      maxCrashes: 5,
      windowMs: 60_000,
      initialDelayMs: 1000,
      maxDelayMs: 3000,
    });
    expect([0, 1, 2, 3].map((i) => tracker.crashed(i * 1000))).toEqual([
      { action: 'restart', delayMs: 1000, crashes: 1 },
      { action: 'restart', delayMs: 2000, crashes: 2 },
      { action: 'restart', delayMs: 3000, crashes: 3 },
      { action: 'restart', delayMs: 3000, crashes: 4 },
    ]);
    expect(tracker.crashed(59_000)).toEqual({ action: 'give-up', crashes: 5 });
  });

  it('forgets crashes older than the window, so a rare crash never adds up to a loop', () => {
    const tracker = new CrashTracker();
    for (let i = 0; i < 10; i++) {
      expect(tracker.crashed(i * 61_000)).toEqual({ action: 'restart', delayMs: 1000, crashes: 1 });
    }
  });
});

describe('supervise', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('restarts a process that keeps dying, then gives up with a message naming it', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'supervise-'));
    const pidFile = path.join(dir, 'crasher.pid');
    const pids: (number | undefined)[] = [];
    const decisions: CrashDecision[] = [];
    const inFile: number[] = [];
    const message = await new Promise<string>((resolve) => {
      supervise({
        name: 'crasher',
        start: () =>
          startProcess('crasher', process.execPath, ['-e', 'process.exit(3)'], { onLine: () => {} }),
        pidFile,
        policy: { maxCrashes: 3, windowMs: 60_000, initialDelayMs: 10, maxDelayMs: 1000 },
        onStarted: (pid) => {
          pids.push(pid);
          inFile.push(Number(readFileSync(pidFile, 'utf8').trim()));
        },
        onCrash: (_code, decision) => decisions.push(decision),
        onGiveUp: resolve,
      });
    });
    expect(message).toBe(
      'crasher crashed 3 times within 60 s; stopping the stack (its last lines are above)',
    );
    expect(decisions.map((d) => d.action)).toEqual(['restart', 'restart', 'give-up']);
    expect(pids).toHaveLength(3);
    expect(new Set(pids).size).toBe(3);
    // Each start is announced once its pid is in the file.
    expect(inFile).toEqual(pids);
  });

  it('keeps the pid file current and stops the process without restarting it', async () => {
    dir ||= await mkdtemp(path.join(os.tmpdir(), 'supervise-'));
    const pidFile = path.join(dir, 'sleeper.pid');
    let started = 0;
    let crashes = 0;
    const sleeper = supervise({
      name: 'sleeper',
      start: () =>
        startProcess('sleeper', process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
          onLine: () => {},
        }),
      pidFile,
      onStarted: () => started++,
      onCrash: () => crashes++,
      onGiveUp: () => {},
    });
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      pid = Number(await readFile(pidFile, 'utf8').catch(() => '0'));
      if (!pid) await new Promise((r) => setTimeout(r, 20));
    }
    expect(() => process.kill(pid, 0), 'the pid file names the live process').not.toThrow();
    await sleeper.stop(5000);
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(readFile(pidFile, 'utf8')).rejects.toThrow(/ENOENT/);
    expect({ started, crashes }).toEqual({ started: 1, crashes: 0 });
  });
});
