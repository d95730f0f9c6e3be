import { conformance } from "../backend_conformance.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";

conformance(
  "memory",
  () => Promise.resolve({ backend: new MemoryBackend(), cleanup: () => Promise.resolve() }),
);
