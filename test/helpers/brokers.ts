/**
 * The real brokers the transport tests run against, started from Debian's packages on
 * free loopback ports, once per `npm test` run (Jest's globalSetup, `brokers.setup.ts`),
 * in parallel: Redis, NATS, Mosquitto (MQTT) and RabbitMQ. Their ports reach the tests
 * through the environment (`brokerPort()`). Each broker is a child of the Jest process,
 * and teardown kills exactly those children — RabbitMQ's `beam.smp` (the `exec`ed
 * script) and the `epmd` started for it on its own port — never a broker started by
 * someone else.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { findRedisServer } from './redis-server.js';

export type BrokerName = 'redis' | 'nats' | 'mqtt' | 'rmq';

const ENV: Record<BrokerName, string> = {
  redis: 'QUIT_TEST_REDIS_PORT',
  nats: 'QUIT_TEST_NATS_PORT',
  mqtt: 'QUIT_TEST_MQTT_PORT',
  rmq: 'QUIT_TEST_RMQ_PORT',
};

/** The port of a broker the globalSetup started; throws, naming the broker, when it did not. */
export function brokerPort(name: BrokerName): number {
  const port = Number(process.env[ENV[name]]);
  if (!port) throw new Error(`no ${name} broker: ${ENV[name]} is not set (test/helpers/brokers.setup.ts starts it)`);
  return port;
}

/**
 * Resolves once a broker started in the background (RabbitMQ: its boot takes ~15-20 s,
 * spent while the other test files run) accepts connections; throws with its start-up
 * error if it failed.
 */
export async function brokerReady(name: BrokerName, timeoutMs = 120_000): Promise<number> {
  const port = brokerPort(name);
  const errorFile = process.env[`${ENV[name]}_ERROR`];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (errorFile && existsSync(errorFile)) throw new Error(`${name} did not start: ${readFileSync(errorFile, 'utf8')}`);
    if (await accepts(port)) return port;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} not up on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export interface Broker {
  readonly name: BrokerName;
  readonly port: number;
  /** Resolves once it accepts connections; rejects (after stopping it) when it cannot start. */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts every broker in parallel and waits for all but the `background` ones; when one
 * fails the others are stopped and the error names it. A background broker's port is set
 * at once; a failure to start is written where `brokerReady()` finds it.
 */
export async function startBrokers(names: BrokerName[] = ['redis', 'nats', 'mqtt', 'rmq'], background: BrokerName[] = []): Promise<Broker[]> {
  const settled = await Promise.allSettled(names.map((name) => STARTERS[name]()));
  const launched = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [`${names[i]}: ${(s.reason as Error).message}`] : []));
  const waited = await Promise.allSettled(launched.filter((b) => !background.includes(b.name)).map((b) => b.ready.then(() => b)));
  waited.forEach((w) => w.status === 'rejected' && failed.push((w.reason as Error).message));
  if (failed.length) {
    await Promise.all(launched.map((b) => b.stop()));
    throw new Error(`brokers did not start:\n${failed.join('\n')}`);
  }
  for (const b of launched) {
    process.env[ENV[b.name]] = String(b.port);
    if (!background.includes(b.name)) continue;
    const errorFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'quit-broker-')), 'error');
    process.env[`${ENV[b.name]}_ERROR`] = errorFile;
    b.ready.catch((error: Error) => writeFileSync(errorFile, error.message));
  }
  return launched;
}

const STARTERS: Record<BrokerName, () => Promise<Broker>> = {
  async redis() {
    const binary = findRedisServer();
    if (!binary) throw new Error('redis-server is not on the PATH (Debian: apt-get install redis-server)');
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
    return launch('redis', binary, args, port, { timeoutMs: 10_000 });
  },
  async nats() {
    const port = await freePort();
    return launch('nats', which('nats-server'), ['-a', '127.0.0.1', '-p', String(port)], port, { timeoutMs: 10_000 });
  },
  async mqtt() {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'quit-mosquitto-'));
    const conf = path.join(dir, 'mosquitto.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stdout\n`);
    return launch('mqtt', which('mosquitto', '/usr/sbin/mosquitto'), ['-c', conf], port, { timeoutMs: 10_000, dir });
  },
  async rmq() {
    // Its own node name, data, logs, AMQP port, distribution port and epmd: nothing shared
    // with a RabbitMQ that may run on this machine, and everything gone at teardown.
    const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(path.join(os.tmpdir(), 'quit-rabbitmq-'));
    writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
    const epmd = spawn(which('epmd'), ['-port', String(epmdPort), '-address', '127.0.0.1'], { stdio: 'ignore' });
    const env = {
      ...process.env,
      HOME: dir,
      RABBITMQ_NODENAME: `quit-test-${process.pid}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_PORT: String(epmdPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: path.join(dir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
      RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
      RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
      RABBITMQ_PID_FILE: path.join(dir, 'pid'),
      // The script then `exec`s the VM: the child is beam.smp itself, and SIGTERM stops it.
      RABBITMQ_ALLOW_INPUT: '1',
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-noinput',
    };
    try {
      const broker = launch('rmq', which('rabbitmq-server', '/usr/lib/rabbitmq/bin/rabbitmq-server', true), [], port, {
        timeoutMs: 90_000,
        env,
        dir,
        ready: 'Starting broker... completed',
        stopMs: 15_000,
      });
      const stop = async () => {
        await broker.stop();
        await stopChild(epmd, 2_000);
      };
      return { ...broker, stop, ready: broker.ready.catch(async (error: unknown) => (await stop(), Promise.reject(error))) };
    } catch (error) {
      await stopChild(epmd, 2_000);
      throw error;
    }
  },
};

interface LaunchOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** A temp dir of the broker's, removed when it stops. */
  dir?: string;
  /** A line of its output that says it is up (besides the port accepting connections). */
  ready?: string;
  stopMs?: number;
}

function launch(name: BrokerName, binary: string, args: string[], port: number, o: LaunchOptions): Broker {
  const proc = spawn(binary, args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let sawReady = o.ready === undefined;
  const onData = (chunk: string) => {
    if (output.length < 64_000) output += chunk;
    if (!sawReady && output.includes(o.ready!)) sawReady = true;
  };
  proc.stdout!.setEncoding('utf8').on('data', onData);
  proc.stderr!.setEncoding('utf8').on('data', onData);
  proc.once('error', (error) => (output += `\n${error.message}`));
  let stopped = false;
  const stop = async () => {
    stopped = true;
    await stopChild(proc, o.stopMs ?? 5_000);
    if (o.dir) rmSync(o.dir, { recursive: true, force: true });
  };
  const ready = (async () => {
    const deadline = Date.now() + o.timeoutMs;
    while (Date.now() < deadline && !stopped) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        await stop();
        throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}):\n${output.slice(-4_000)}`);
      }
      if (sawReady && (await accepts(port))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    await stop();
    throw new Error(`${name} not up on 127.0.0.1:${port} within ${o.timeoutMs} ms:\n${output.slice(-4_000)}`);
  })();
  return { name, port, stop, ready };
}

/** SIGTERM, then SIGKILL after `ms`; resolves once it has exited. Only ever a child of ours. */
function stopChild(proc: ChildProcess, ms: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => proc.kill('SIGKILL'), ms);
    proc.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A program on the PATH, or at `fallback`; throws naming the Debian package when neither exists. */
function which(program: string, fallback?: string, fallbackFirst = false): string {
  const candidates = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, program));
  if (fallback) (fallbackFirst ? candidates.unshift(fallback) : candidates.push(fallback));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  throw new Error(`${program} not found (Debian package: ${program === 'epmd' ? 'erlang-base' : program === 'nats-server' ? 'nats-server' : program})`);
}
