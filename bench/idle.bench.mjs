// Idle SIGTERM → exit: bare Nest against Nest with QuitModule.forRoot(), same app,
// runs interleaved so that machine noise falls on both alike.
import { built, fmt, median, percentile, signalAndTime, startApp } from './lib.mjs';

export const title = 'Idle shutdown: SIGTERM → exit';
const RUNS = Number(process.env.BENCH_RUNS ?? 20);

export async function run() {
  const file = built('bench/apps/idle.app.js');
  const times = { bare: [], quit: [] };
  const codes = { bare: new Set(), quit: new Set() };
  for (let i = 0; i < RUNS; i++) {
    for (const variant of i % 2 ? ['quit', 'bare'] : ['bare', 'quit']) {
      const app = startApp(file, { WITH_QUIT: variant === 'quit' ? '1' : '0' });
      await app.ready;
      await new Promise((r) => setTimeout(r, 50)); // let start-up work settle
      const exit = await signalAndTime(app);
      times[variant].push(exit.ms);
      codes[variant].add(exit.code ?? exit.signal);
    }
  }
  const row = (name, key) =>
    `| ${name} | ${fmt(median(times[key]))} | ${fmt(percentile(times[key], 90))} | ${fmt(Math.max(...times[key]))} | ${[...codes[key]].join(', ')} |`;
  const diff = median(times.quit) - median(times.bare);
  return `Command: \`npm run bench -- idle\` (${RUNS} runs each, interleaved). One route, no load,
\`app.enableShutdownHooks()\`; time from \`kill(SIGTERM)\` to the process's exit, seen by the parent.

| app | median | p90 | max | exit |
| --- | --- | --- | --- | --- |
${row('bare Nest', 'bare')}
${row('Nest + QuitModule.forRoot()', 'quit')}

Median difference: **${diff >= 0 ? '+' : ''}${diff.toFixed(1)} ms** (target: within 20 ms of Nest's own).`;
}
