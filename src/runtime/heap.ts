// Streaming a million rows allocates steadily. V8 would grow the young
// generation to 3 × 16 MiB and let the old one reach four times what is live
// before collecting it: together most of the peak memory of `users list`,
// `events`, `prune` and `users remove`. Kept small, both cost nothing
// measurable in time (BENCHMARKS.md). V8 reads these two at each collection,
// so setting them when such a command starts is enough; the short commands do
// not load node:v8 at all.

import { setFlagsFromString } from 'node:v8';

export function keepHeapSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1 --heap-growing-percent=50');
}
