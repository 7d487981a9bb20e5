// Serves a Worker as `wrangler dev` does, through wrangler's own programmatic API, but with
// the inspector off: scripts/bench.sh with BENCH_INSPECTOR=off.
//
// Why: `wrangler dev` always starts an inspector and asks the runtime for the DevTools
// `Network` events. The runtime then reports every subrequest, D1 and KV calls included,
// with its response body; wrangler's proxy parses each report and posts a copy of it to
// wrangler's node process as a debug log line. On this machine that relay costs about 2.5 ms
// of CPU for each binding call and 25 to 55 ns for each byte a call returns, more than the
// Workers' own work on a list page; production has no inspector (docs/performance.md).
//
// Takes the `wrangler dev` arguments bench.sh uses:
//   node serve-without-inspector.mjs -c CONFIG --ip IP --port PORT --persist-to DIR [--var NAME:VALUE]...
import { unstable_startWorker } from "wrangler";

const args = process.argv.slice(2);
const options = { vars: {} };
for (let i = 0; i < args.length; i += 2) {
  const [flag, value] = [args[i], args[i + 1]];
  if (value === undefined) throw new Error(`${flag} needs a value`);
  if (flag === "-c") options.config = value;
  else if (flag === "--ip") options.ip = value;
  else if (flag === "--port") options.port = Number(value);
  else if (flag === "--persist-to") options.persist = value;
  else if (flag === "--var") {
    const colon = value.indexOf(":");
    options.vars[value.slice(0, colon)] = { type: "plain_text", value: value.slice(colon + 1) };
  } else throw new Error(`unknown argument ${flag}`);
}

const worker = await unstable_startWorker({
  config: options.config,
  bindings: options.vars,
  dev: {
    inspector: false,
    server: { hostname: options.ip, port: options.port },
    persist: options.persist,
    watch: false,
    logLevel: "warn",
  },
});
await worker.ready;
console.log(`serving ${(await worker.url).href} without an inspector`);
const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
