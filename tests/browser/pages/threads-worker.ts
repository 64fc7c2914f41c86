/** The thread cases in a dedicated worker (as the playground trains): answers one message with the results. */
import { canBlockHere, threadCases } from "./thread-cases";

const scope = self as unknown as { postMessage(m: unknown): void; onmessage: (() => void) | null };
scope.onmessage = () => {
  threadCases().then(
    (cases) => scope.postMessage({ cases, isolated: crossOriginIsolated, canBlock: canBlockHere() }),
    (e: unknown) => scope.postMessage({ error: e instanceof Error ? e.message : String(e) }),
  );
};
