import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The job images' tests: the SDK and the llm job against local HTTP servers, the media job against
// real ffmpeg (Debian's `ffmpeg` package) with its inputs and outputs in a private moto S3. Files
// run one at a time: ffmpeg encodes take both cores of a small machine.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['jobs/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
