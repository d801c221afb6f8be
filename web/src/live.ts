// Live updates: one WebSocket to vigild's event stream (GET /api/v1/events) per tab, shared by
// every page. Reconnects with backoff; pings every 30 s (the server closes idle sockets after
// 90 s and re-checks the session on each ping). Pages subscribe to the events they care about.
import { useEffect, useState } from 'preact/hooks';
import { api, type CheckStatus, type Presence } from './api';

export type LiveEvent =
  | {
      type: 'check';
      device_id: number;
      client_id: number;
      check: string;
      target: string;
      status: CheckStatus;
      previous: CheckStatus | null;
      message: string;
      at: string;
    }
  | { type: 'presence'; device_id: number; client_id: number; presence: Presence };

export type LiveState = 'off' | 'connecting' | 'live' | 'retrying';

const subscribers = new Set<(e: LiveEvent) => void>();
const stateListeners = new Set<(s: LiveState) => void>();
let socket: WebSocket | null = null;
let state: LiveState = 'off';
let wanted = false;
let retry = 0;
let pingTimer: number | undefined;
let retryTimer: number | undefined;

function setState(s: LiveState) {
  state = s;
  stateListeners.forEach((l) => l(s));
}

function connect() {
  if (!wanted || socket) return;
  setState(retry ? 'retrying' : 'connecting');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events`;
  const ws = new WebSocket(url);
  socket = ws;
  ws.onopen = () => {
    retry = 0;
    setState('live');
    pingTimer = window.setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('ping'), 30_000);
  };
  ws.onmessage = (m) => {
    let e: any;
    try {
      e = JSON.parse(String(m.data));
    } catch {
      return;
    }
    if (e && (e.type === 'check' || e.type === 'presence')) subscribers.forEach((s) => s(e));
  };
  ws.onclose = () => {
    window.clearInterval(pingTimer);
    socket = null;
    if (!wanted) {
      setState('off');
      return;
    }
    // vigild closes the stream when the session ends, and refuses a new one: asking who we are
    // lets the shell show the sign-in form (a 401 there tells every listener) instead of retrying.
    api('GET', '/auth/me').catch(() => undefined);
    setState('retrying');
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(retry++, 5));
    retryTimer = window.setTimeout(connect, delay);
  };
}

// Signed in: keep the stream open. Signed out: close it.
export function setLive(on: boolean) {
  wanted = on;
  if (on) {
    retry = 0;
    connect();
  } else {
    window.clearTimeout(retryTimer);
    socket?.close();
    socket = null;
    setState('off');
  }
}

export function useLiveEvents(handler: (e: LiveEvent) => void, deps: unknown[]) {
  useEffect(() => {
    subscribers.add(handler);
    return () => {
      subscribers.delete(handler);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
}

export function useLiveState(): LiveState {
  const [s, setS] = useState(state);
  useEffect(() => {
    stateListeners.add(setS);
    return () => {
      stateListeners.delete(setS);
    };
  }, []);
  return s;
}
