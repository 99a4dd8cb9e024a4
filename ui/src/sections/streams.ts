/**
 * Streams: every stream that wrote something, and for the chosen one its state (the workflow's query), latency
 * from arrival to persisted prediction, dead letters (replay needs the key and a confirmation) and its predictions
 * live over the SSE feed, with predictions per second as a chart.
 */
import { followSse, getJson, postJson } from '../api.js';
import { chart } from '../chart.js';
import { confirmAction } from '../confirm.js';
import { figures, fill, fmt, h, panel, table, toast } from '../dom.js';
import type { StreamDetail, StreamItem, StreamState } from './shapes.js';
import { throttle, type Section, type SectionContext } from './types.js';

const FEED_ROWS = 50;
const RATE_WINDOW_S = 120;

function streamList(streams: StreamItem[], current: string | null): HTMLElement {
  return table<StreamItem>(
    'Streams, most recently active first',
    [
      {
        label: 'Stream',
        cell: (s) =>
          h(
            'a',
            {
              href: `/ui/streams?stream=${encodeURIComponent(s.streamId)}`,
              'aria-current': s.streamId === current ? 'page' : undefined,
            },
            s.streamId,
          ),
      },
      { label: 'Deployment', cell: (s) => s.deployment ?? '–' },
      { label: 'Predictions', cell: (s) => fmt.int(s.predictions), numeric: true },
      { label: 'Dead letters pending', cell: (s) => fmt.int(s.pendingDeadLetters), numeric: true },
      { label: 'Last prediction', cell: (s) => fmt.time(s.lastScoredAt) },
    ],
    streams,
    'No stream has scored an event yet. Send events with POST /deployments/{name}/streams/{id}/events.',
  );
}

function stateFigures(state: StreamState, detail: StreamDetail): HTMLElement {
  const p = state.predictions;
  const labels = p.labels
    ? Object.entries(p.labels)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')
    : null;
  return figures([
    ['Model', state.model ?? '–'],
    ['Received', fmt.int(state.received)],
    ['Processed', fmt.int(state.processed)],
    ['Dead-lettered', fmt.int(state.failed)],
    ['Duplicates skipped', fmt.int(state.duplicates)],
    ['Queue length', fmt.int(state.queueLength)],
    ['In flight', fmt.int(state.inFlight)],
    ['Events/s (last minute)', fmt.num(detail.eventsPerSecond)],
    ['Latency p50', fmt.ms(detail.latency.p50)],
    ['Latency p99', fmt.ms(detail.latency.p99)],
    ['State', state.paused ? 'paused' : state.draining ? 'draining' : 'running'],
    [labels ? 'Predicted labels' : 'Prediction p50 / p90', labels ?? `${fmt.num(p.p50)} / ${fmt.num(p.p90)}`],
  ]);
}

function deadLetterTable(streamId: string, detail: StreamDetail, reload: () => void): HTMLElement {
  const replay = async (d: StreamDetail['deadLetters'][number]) => {
    const text = await confirmAction({
      title: `Replay dead letter ${d.eventId}`,
      body: `Re-queue event ${d.eventId} of stream ${streamId} at the end of its queue? Correct the record first if it was the cause (${d.error}).`,
      action: 'Replay',
      field: { label: 'Record (JSON)', value: JSON.stringify(d.record ?? {}, null, 2) },
    });
    if (text === null) return;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      toast('Not replayed: the record is not valid JSON.');
      return;
    }
    try {
      await postJson(
        `/streams/${encodeURIComponent(streamId)}/dead-letters/${encodeURIComponent(d.eventId)}/replay`,
        { record },
      );
      toast(`Event ${d.eventId} re-queued.`);
      reload();
    } catch (err) {
      toast(`Not replayed: ${(err as Error).message}`);
    }
  };
  return table(
    'Dead letters of this stream',
    [
      { label: 'Event', cell: (d) => d.eventId },
      { label: 'Error', cell: (d) => d.error },
      { label: 'Attempts', cell: (d) => fmt.int(d.attempts), numeric: true },
      { label: 'Dead since', cell: (d) => fmt.time(d.createdAt) },
      {
        label: 'Action',
        cell: (d) =>
          d.replayedAt
            ? `replayed ${fmt.time(d.replayedAt)}`
            : h(
                'button',
                { type: 'button', class: 'secondary', onclick: () => void replay(d) },
                `Replay ${d.eventId}…`,
              ),
      },
    ],
    detail.deadLetters,
    'No dead letters.',
  );
}

async function renderStream(
  ctx: SectionContext,
  streamId: string,
  slot: HTMLElement,
  refreshList: () => void,
) {
  const stateSlot = h('div', { id: 'stream-state' }, 'Loading…');
  const deadSlot = h('div', { id: 'stream-dead-letters' });
  const feed = h('ol', {
    class: 'feed',
    id: 'stream-feed',
    'aria-label': `Latest predictions of ${streamId}`,
  });
  const live = h('p', { class: 'live', id: 'stream-live' }, 'Live feed: connecting…');
  const rate = chart({
    id: 'stream-rate',
    caption: `Predictions per second of ${streamId} (since this page opened)`,
    series: [{ label: 'predictions/s', color: '#1f5fbf', points: false }],
    yLabel: 'per second',
  });
  ctx.signal.addEventListener('abort', () => rate.destroy());
  fill(
    slot,
    panel(
      'stream-detail',
      `Stream ${streamId}`,
      stateSlot,
      h('h3', {}, 'Predictions, newest first'),
      live,
      feed,
      rate.figure,
      h('h3', {}, 'Dead letters'),
      deadSlot,
    ),
  );

  const load = async () => {
    const [state, detail] = await Promise.all([
      getJson<StreamState>(`/streams/${encodeURIComponent(streamId)}`, { signal: ctx.signal }).catch(
        () => null,
      ),
      getJson<StreamDetail>(`/ui/api/streams/${encodeURIComponent(streamId)}`, { signal: ctx.signal }),
    ]);
    fill(
      stateSlot,
      state
        ? stateFigures(state, detail)
        : h('p', { class: 'empty' }, 'The stream workflow does not answer (not started or ended).'),
    );
    fill(deadSlot, deadLetterTable(streamId, detail, reload));
    return detail;
  };
  const reload = throttle(500, async () => {
    await load();
    refreshList();
  });
  const detail = await load();

  const perSecond = new Map<number, number>();
  const draw = () => {
    const now = Math.floor(Date.now() / 1000);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let t = now - RATE_WINDOW_S; t <= now; t++) {
      xs.push(t);
      ys.push(perSecond.get(t) ?? 0);
    }
    const total = ys.reduce((a, b) => a + b, 0);
    rate.setData([xs, ys], `${total} predictions in the last ${RATE_WINDOW_S} s`);
  };
  const drawRate = throttle(1000, () => Promise.resolve(draw()));
  draw();
  void followSse(
    `/streams/${encodeURIComponent(streamId)}/predictions?after=${detail.tailAfterId}`,
    (m) => {
      if (m.event !== 'prediction') return;
      const second = Math.floor(Date.now() / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      feed.prepend(
        h('li', {}, h('span', { class: 'feed-id' }, `#${m.id ?? ''}`), ' ', h('code', {}, m.data)),
      );
      while (feed.children.length > FEED_ROWS) feed.lastElementChild?.remove();
      drawRate();
      reload();
    },
    ctx.signal,
    (s) => (live.textContent = s === 'open' ? 'Live feed: on' : 'Live feed: reconnecting…'),
  );
}

export const streams: Section = {
  id: 'streams',
  path: '/ui/streams',
  title: 'Streams',
  async render(ctx) {
    const listSlot = h('div', { id: 'stream-list' });
    const detailSlot = h('div');
    const open = h('form', { class: 'inline-form', 'aria-label': 'Open a stream' });
    const idInput = h('input', {
      id: 'stream-id',
      name: 'stream',
      required: true,
      autocomplete: 'off',
      pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,99}',
    });
    fill(
      open,
      h('div', { class: 'field' }, h('label', { for: 'stream-id' }, 'Stream id'), idInput),
      h('button', { type: 'submit', class: 'secondary' }, 'Open'),
    );
    open.addEventListener('submit', (e) => {
      e.preventDefault();
      ctx.navigate(`/ui/streams?stream=${encodeURIComponent(idInput.value)}`);
    });
    fill(ctx.root, h('h1', {}, 'Streams'), panel('streams-all', 'All streams', listSlot, open), detailSlot);

    const current = ctx.params.get('stream');
    const loadList = async () => {
      const { streams: all } = await getJson<{ streams: StreamItem[] }>('/ui/api/streams', {
        signal: ctx.signal,
      });
      fill(listSlot, streamList(all, current ?? all[0]?.streamId ?? null));
      return all;
    };
    const all = await loadList();
    const chosen = current ?? all[0]?.streamId;
    if (chosen)
      await renderStream(
        ctx,
        chosen,
        detailSlot,
        throttle(2000, async () => void (await loadList())),
      );
  },
};
