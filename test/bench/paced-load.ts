// A load generator in a process of its own: requests at an even pace (not in bursts, as
// a PBX sends them), over keep-alive connections, each one timed. Prints one JSON line.
//   node paced-load.js <port> <requests per second> <seconds> <decide|healthz>
import { Agent, get } from 'node:http';
import { spread } from './measure';
import { decidePath } from './hook-requests';

const [port, rate, seconds, kind] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
const times: number[] = [];
const total = rate * seconds;
let sent = 0;
let answered = 0;
let failures = 0;

function fire(i: number): void {
  const started = process.hrtime.bigint();
  const request = get({ host: '127.0.0.1', port, agent, path: kind === 'healthz' ? '/healthz' : decidePath(i) }, (response) => {
    if (response.statusCode !== 200) failures++;
    response.resume();
    response.on('end', () => {
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      answered++;
    });
  });
  request.on('error', () => {
    failures++;
    answered++;
  });
}

const start = process.hrtime.bigint();
const pacer = setInterval(() => {
  const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * rate));
  while (sent < due) fire(sent++);
  if (sent < total) return;
  clearInterval(pacer);
  const done = setInterval(() => {
    if (answered < total) return;
    clearInterval(done);
    agent.destroy();
    const { median, p99 } = spread(times);
    process.stdout.write(`${JSON.stringify({ median, p99, count: times.length, failures })}\n`);
  }, 10);
}, 1);
