// A container function in another language: echoes the request, and misbehaves on
// the paths the tests ask for.
const http = require("http");

const started = Date.now();
const instance = require("crypto").randomUUID();
let running = 0; // requests this process is answering now
let peak = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  running += 1;
  peak = Math.max(peak, running);
  res.on("finish", () => (running -= 1));
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const url = new URL(req.url, "http://instance");
    if (url.pathname.endsWith("/crash")) {
      process.stderr.write("crashing on purpose\n");
      process.exit(3);
    }
    if (url.pathname === "/healthz") {
      const ready = Date.now() - started >= Number(process.env.READY_AFTER_MS || 0);
      res.writeHead(ready ? 200 : 503);
      res.end();
      return;
    }
    if (url.pathname.endsWith("/big")) {
      res.end(Buffer.alloc(Number(url.searchParams.get("mb")) << 20, 120));
      return;
    }
    if (url.pathname.endsWith("/alloc")) {
      try {
        const held = Buffer.alloc(Number(url.searchParams.get("mb")) << 20, 1);
        res.end(`allocated ${held.length >> 20} MiB`);
      } catch (error) {
        res.writeHead(500);
        res.end(String(error));
      }
      return;
    }
    const reply = () => {
      res.writeHead(201, { "content-type": "application/json", date: "Thu, 01 Jan 1970 00:00:00 GMT" });
      res.end(
        JSON.stringify({
          method: req.method,
          path: url.pathname,
          query: url.search,
          header: req.headers["x-test"] || null,
          traceparent: req.headers["traceparent"] || null,
          host: req.headers.host,
          content_type: req.headers["content-type"] || null,
          body: Buffer.concat(chunks).toString(),
          greeting: process.env.GREETING || null,
          port: process.env.PORT,
          cwd: process.cwd(),
          pid: process.pid,
          instance,
          peak,
        })
      );
    };
    const delay = Number(url.searchParams.get("sleep_ms") || 0);
    if (delay) setTimeout(reply, delay);
    else reply();
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1");
