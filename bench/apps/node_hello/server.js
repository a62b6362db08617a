// The container benchmark's instance (bench/container.py): the smallest useful
// answer, `hello` as text/plain, on $PORT; GET /port names the port, so the benchmark
// can point nginx at the very instance the gateway started.
const http = require("http");

const port = process.env.PORT;
http
  .createServer((req, res) => {
    const body = req.url === "/port" ? port : "hello";
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  })
  .listen(Number(port), "127.0.0.1");
