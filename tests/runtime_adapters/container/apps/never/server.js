// Listens, but its health check never passes.
const http = require("http");
http
  .createServer((req, res) => {
    res.writeHead(503);
    res.end("still warming up");
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
