/**
 * Wrap a backend to inject faults or observe calls in tests. Optional fast paths
 * (`localPath`, `copyInFromPath`) are left out unless given, so the generic path runs.
 *
 * @module
 */
import type { Backend } from "../lib/backends/backend.ts";

/**
 * @param inner The real backend.
 * @param over Methods to replace.
 * @returns A backend that forwards everything else to `inner`.
 */
export function wrapBackend(inner: Backend, over: Partial<Backend> = {}): Backend {
  const base: Backend = {
    display: inner.display,
    id: inner.id,
    caps: inner.caps,
    rootExists: () => inner.rootExists(),
    createRoot: () => inner.createRoot(),
    list: (o) => inner.list(o),
    stat: (k) => inner.stat(k),
    read: (k) => inner.read(k),
    write: (k, d, m) => inner.write(k, d, m),
    remove: (k) => inner.remove(k),
    mkdir: (k) => inner.mkdir(k),
    rmdir: (k) => inner.rmdir(k),
    close: () => inner.close(),
  };
  if (inner.move) base.move = (a, b) => inner.move!(a, b);
  if (inner.birthTime) base.birthTime = (k) => inner.birthTime!(k);
  return { ...base, ...over };
}
