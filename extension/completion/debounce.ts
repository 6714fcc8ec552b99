// How long to wait after a keystroke before asking for a completion. A request the next keystroke
// supersedes is wasted model time (cancellation stops decoding, not the prefill already done), so
// the wait follows the user's rhythm: past their usual gap while they type in a burst, short once
// they have paused, and longer still when completions are slow.

/** What the delay is computed from: the current typing burst and the recent completion latency. */
export interface DebounceState {
  lastKeyAt?: number;
  /** Gaps between the keystrokes of the current burst, oldest first. */
  gaps: number[];
  /** Smoothed completion latency in ms (undefined before the first completion). */
  latencyMs?: number;
}

/** A gap this long ends a burst: the user stopped to think or read. */
export const BURST_GAP_MS = 1000;
const KEPT_GAPS = 8;
const LATENCY_WEIGHT = 0.3;
export const MIN_DELAY_MS = 25;

export const initialDebounce = (): DebounceState => ({ gaps: [] });

export function keystroke(state: DebounceState, now: number): DebounceState {
  const gap = state.lastKeyAt === undefined ? undefined : now - state.lastKeyAt;
  const gaps = gap !== undefined && gap >= 0 && gap < BURST_GAP_MS ? [...state.gaps, gap].slice(-KEPT_GAPS) : [];
  return { ...state, lastKeyAt: now, gaps };
}

export function completed(state: DebounceState, latencyMs: number): DebounceState {
  const latency =
    state.latencyMs === undefined ? latencyMs : state.latencyMs + LATENCY_WEIGHT * (latencyMs - state.latencyMs);
  return { ...state, latencyMs: latency };
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The wait, in ms, for a keystroke just recorded: from half to three times baseMs (hef.debounceMs). */
export function debounceDelay(state: DebounceState, baseMs: number): number {
  const gap = median(state.gaps);
  // The first key after a pause is often the only one: answer it soon.
  if (gap === undefined) return atLeastFloor(baseMs / 2);
  // Fast typists: outwait their usual gap so the next key arrives before the request is sent.
  const rhythm = gap < baseMs ? Math.max(baseMs, 2 * gap) : baseMs;
  // A slow model makes each superseded request dearer; be more patient mid-burst.
  const patience = state.latencyMs === undefined ? 0 : Math.min(state.latencyMs / 4, baseMs);
  return atLeastFloor(rhythm + patience);
}

const atLeastFloor = (ms: number): number => Math.max(Math.round(ms), MIN_DELAY_MS);
