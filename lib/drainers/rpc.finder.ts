import type { Socket } from 'node:net';
import type { DrainerFinder } from './index.js';
import { GrpcDrainer } from './grpc.drainer.js';
import { intakes } from './rpc-intake.js';
import { TcpDrainer } from './rpc-tcp.drainer.js';
import { RpcDrainer, takeOverClose } from './rpc.drainer.js';
import { nestTransportOf, onRpcTargets, ownTcpClientSockets, rpcOptionsPort, type RpcStrategy } from '../internals/nest-microservices.js';
import { RmqDrainer } from './rpc-rmq.drainer.js';
import { QuitMessages } from '../quit.messages.js';

/**
 * Finds every microservice server of the app without a line in `main.ts` (see
 * `onRpcTargets`): the ones created before bootstrap at once, one connected later gets
 * its drainer then.
 */
export const rpcFinder: DrainerFinder = ({ modules, options, add, beginQuit }) => {
  onRpcTargets(modules, (strategy) => {
    const drainer = drainerFor(strategy, takeOverClose(strategy, beginQuit), () => ownTcpClientSockets(modules));
    if (drainer instanceof RpcDrainer) drainer.logger = options.logger;
    if (!drainer.counting) options.logger?.warn(QuitMessages.rpcHandlersNotCounted(drainer.name, drainer.transport));
    add(drainer);
  });
};

function drainerFor(strategy: RpcStrategy, closeNow: () => Promise<unknown>, ownClients: () => Socket[]): RpcDrainer | GrpcDrainer {
  const kind = nestTransportOf(strategy) ?? 'rpc';
  if (kind === 'grpc') return GrpcDrainer.forStrategy(strategy);
  if (kind === 'tcp') return new TcpDrainer(strategy, closeNow, ownClients);
  const name = typeof strategy.transportId === 'symbol' ? (strategy.transportId.description ?? kind) : kind;
  const port = rpcOptionsPort(strategy);
  const label = port === undefined ? name : `${name}:${String(port)}`;
  if (kind === 'rmq') return new RmqDrainer(strategy, closeNow, label);
  return new RpcDrainer(strategy, kind, closeNow, intakes[kind], label);
}
