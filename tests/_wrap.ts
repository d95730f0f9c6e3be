/**
 * Wrap a backend to inject faults or observe calls in tests. Optional fast paths
 * (`localPath`, `copyInFromPath`) are left out unless given, and the wrapper is not
 * `caps.local` without a `localPath`, so the generic path runs. `caps.fast` declares the fast
 * paths the wrapper has: those of the inner backend it forwards (`birthTime`) and those given.
 *
 * @module
 */
import { type Backend, type Capabilities, FAST_PATHS } from "../lib/backends/backend.ts";

/**
 * @param inner The real backend.
 * @param over Methods to replace.
 * @returns A backend that forwards everything else to `inner`.
 */
export function wrapBackend(inner: Backend, over: Partial<Backend> = {}): Backend {
  const base: Backend = {
    display: inner.display,
    id: inner.id,
    // Not local unless a localPath is given (the fast paths stay off); the rest is the inner
    // backend's, read live (open() learns some of it).
    caps: new Proxy(inner.caps, {
      get: (caps, name) =>
        name === "local"
          ? !!over.localPath
          : name === "fast"
          ? fastOf(caps.fast)
          : Reflect.get(caps, name),
    }),
    // Opening asks the wrapper's rootExists, so a test that fakes a missing root fakes both.
    open: async (mode) => {
      const exists = await wrapped.rootExists();
      if (exists) await inner.open(mode);
      return { exists };
    },
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
  if (inner.begin) base.begin = () => inner.begin!();
  if (inner.commit) base.commit = () => inner.commit!();
  if (inner.rollback) base.rollback = () => inner.rollback!();
  const wrapped: Backend = { ...base, ...over };
  const fastOf = (inner: Capabilities["fast"]): Capabilities["fast"] => {
    const fast: NonNullable<Capabilities["fast"]> = {};
    for (const name of FAST_PATHS) {
      if (wrapped[name] && (inner?.[name] || name in over)) fast[name] = true;
    }
    return fast;
  };
  return wrapped;
}
