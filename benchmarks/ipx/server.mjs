// ipx (sharp) for the benchmark harness (benchmarks/run.py): N Node processes on one port with
// Node's cluster module (the primary accepts and hands connections round-robin to the workers),
// serving images from a local folder.  The harness installs ipx into benchmarks/.ipx and sets:
//   IPX_BENCH_MODULE  file URL of ipx's ESM entry point
//   IPX_BENCH_ROOT    the folder served
//   IPX_BENCH_PORT    the loopback port
//   IPX_BENCH_PROCESSES  worker processes (default 2)
// sharp keeps its defaults: on glibc Linux without jemalloc that is one libvips thread per
// process, so N processes use N cores, like N imgproxy_py worker slots or N thumbor processes.
import cluster from "node:cluster";
import { createServer } from "node:http";

const processes = Number(process.env.IPX_BENCH_PROCESSES || "2");
const port = Number(process.env.IPX_BENCH_PORT);

if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    if (!process.exitCode) console.error(`ipx worker ${worker.process.pid} exited (${signal || code})`);
  });
  const stop = () => {
    process.exitCode = 0;
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  const { createIPX, ipxFSStorage, createIPXNodeServer } = await import(process.env.IPX_BENCH_MODULE);
  const ipx = createIPX({ storage: ipxFSStorage({ dir: process.env.IPX_BENCH_ROOT }) });
  createServer(createIPXNodeServer(ipx)).listen(port, "127.0.0.1");
}
