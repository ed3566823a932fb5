// The HTTP side of bench/tap-cone.ts in a process of its own, as real clients are: the node's
// event loop then carries only the server's work. Reads {url, concurrency, bodies} as JSON on
// stdin (each body a form for POST /tap/sync), runs the first 10 bodies once to warm up, then
// all of them with `concurrency` requests in flight, and prints {times (ms), wall (s)}.
let input = '';
for await (const chunk of process.stdin) input += chunk;
const { url, concurrency, bodies } = JSON.parse(input);
const ask = async (body) => {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(body) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return performance.now() - t0;
};
for (const b of bodies.slice(0, 10)) await ask(b);
const times = [];
let next = 0;
const t0 = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) times.push(await ask(bodies[next++]));
  }),
);
process.stdout.write(JSON.stringify({ times, wall: (performance.now() - t0) / 1000 }));
