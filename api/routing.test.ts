/**
 * ROUTING_DRAW=turn: the calls to one deployment routed in one event-loop turn share one canary draw, at most
 * `maxCalls` of them; another deployment, and the next turn, draw again; a call that `decide` routes by its sticky
 * key takes no draw; each call's shadow draw is its own. With `decide` that sends a turn's calls to one version
 * together, and shadows each call of a turn on its own chance.
 * It is the default; ROUTING_DRAW=call draws each call alone, and any other value is refused by name.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { decide, type RoutingState } from '../contracts/routing.js';
import { turnDraws } from './routing.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A random source that counts: 0.01, 0.02, … (draws of 1, 2, … percent). */
function counting() {
  let n = 0;
  return () => ++n / 100;
}

const state: RoutingState = {
  deployment: 'ride-duration',
  model: 'ride-duration',
  champion: '2',
  challenger: '1',
  canary: 50,
  shadow: 0,
  sticky: null,
  rollout: null,
  revision: 1,
  changedAt: '2026-12-04T00:00:00.000Z',
  changedBy: 'test',
  reason: 'test',
};

describe('turnDraws', () => {
  it('gives the calls of one turn the same canary draw and each its own shadow draw; the next turn draws anew', async () => {
    const draws = turnDraws(64, counting());
    const first = [draws('a'), draws('a'), draws('a')].map((draw) => [draw(), draw()]);
    expect(first).toEqual([
      [1, 2],
      [1, 3],
      [1, 4],
    ]);
    await nextTurn();
    const second = draws('a');
    expect([second(), second()]).toEqual([5, 6]);
  });

  it('draws apart for another deployment, and again after maxCalls calls in one turn', () => {
    const draws = turnDraws(2, counting());
    expect([draws('a')(), draws('b')(), draws('a')(), draws('a')(), draws('a')(), draws('b')()]).toEqual([
      1, 2, 1, 3, 3, 2,
    ]);
  });

  it('counts only the calls that take a draw: a sticky call does not use one of the turn’s places', () => {
    const draws = turnDraws(2, counting());
    const sticky = { ...state, sticky: { header: 'x-user' } };
    for (let i = 0; i < 5; i++) decide(sticky, `user-${i}`, draws('a'));
    expect([draws('a')(), draws('a')(), draws('a')()]).toEqual([1, 1, 2]);
  });

  it('routes a turn to one version together, each turn with the canary share’s chance', async () => {
    const draws = turnDraws(64, Math.random);
    const turns: string[][] = [];
    for (let t = 0; t < 400; t++) {
      turns.push(Array.from({ length: 10 }, () => decide(state, undefined, draws('a')).version));
      await nextTurn();
    }
    for (const versions of turns) expect(new Set(versions).size).toBe(1);
    const canary = turns.filter((v) => v[0] === '1').length;
    const sd = Math.sqrt(400 * 0.5 * 0.5);
    expect(canary).toBeGreaterThan(200 - 4 * sd);
    expect(canary).toBeLessThan(200 + 4 * sd);
  });

  it('shadows each call of a turn on its own chance', async () => {
    const draws = turnDraws(64, Math.random);
    const shadowOnly = { ...state, canary: 0, shadow: 50 };
    const turns: boolean[][] = [];
    for (let t = 0; t < 100; t++) {
      turns.push(Array.from({ length: 10 }, () => decide(shadowOnly, undefined, draws('a')).shadow !== null));
      await nextTurn();
    }
    expect(turns.filter((t) => new Set(t).size === 2).length).toBeGreaterThan(90);
    const shadowed = turns.flat().filter(Boolean).length;
    const sd = Math.sqrt(1000 * 0.5 * 0.5);
    expect(shadowed).toBeGreaterThan(500 - 4 * sd);
    expect(shadowed).toBeLessThan(500 + 4 * sd);
  });

  it('is the default; ROUTING_DRAW=call draws per call, and another value is refused naming the variable', () => {
    expect(loadConfig({}).api.routingDraw).toBe('turn');
    expect(loadConfig({ ROUTING_DRAW: 'call' }).api.routingDraw).toBe('call');
    expect(() => loadConfig({ ROUTING_DRAW: 'coin' })).toThrow(ConfigError);
    expect(() => loadConfig({ ROUTING_DRAW: 'coin' })).toThrow(/ROUTING_DRAW/);
  });
});
