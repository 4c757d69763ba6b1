// `npm run generate:observability`: writes the Grafana dashboard and the Prometheus alerts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { repoRoot } from './paths.ts';
import { renderObservabilityFiles } from './render.ts';

for (const [path, content] of renderObservabilityFiles()) {
  const target = resolve(repoRoot, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  console.log(`wrote ${path}`);
}
