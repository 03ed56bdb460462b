// Runs inside the serving sandbox (own network namespace): starts the user's serving command and
// relays connections from a unix socket, bound in from the host, to the command's TCP port on the
// sandbox's own loopback. Apiary reaches the model only through this socket; the model reaches
// nothing on the host's network. Usage: node serving-relay.mjs SOCKET PORT -- CMD [ARGS...]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

const [socketPath, port, dashes, cmd, ...args] = process.argv.slice(2);
if (!socketPath || !port || dashes !== '--' || !cmd) {
  console.error('usage: serving-relay.mjs SOCKET PORT -- CMD [ARGS...]');
  process.exit(2);
}
const child = spawn(cmd, args, { stdio: 'inherit' });
child.on('error', (e) => {
  console.error(`cannot start the serving command: ${e.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));

fs.rmSync(socketPath, { force: true });
const server = net.createServer((inbound) => {
  const outbound = net.connect(Number(port), '127.0.0.1');
  inbound.pipe(outbound).pipe(inbound);
  inbound.on('error', () => outbound.destroy());
  outbound.on('error', () => inbound.destroy());
  inbound.on('close', () => outbound.destroy());
  outbound.on('close', () => inbound.destroy());
});
server.listen(socketPath);
