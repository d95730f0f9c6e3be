import { conformance } from "../backend_conformance.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";

conformance(
  "memory",
  () => Promise.resolve({ backend: new MemoryBackend(), cleanup: () => Promise.resolve() }),
);

conformance("memory (transactional)", () => {
  const backend = new MemoryBackend({ caps: { transactional: true } });
  return Promise.resolve({
    backend,
    cleanup: () => Promise.resolve(),
    reopen: () => Promise.resolve(backend.reopened()),
  });
});

conformance("memory (times remembered by ferry)", () =>
  Promise.resolve({
    backend: new MemoryBackend({ caps: { modTime: "remembered" } }),
    cleanup: () => Promise.resolve(),
  }));
