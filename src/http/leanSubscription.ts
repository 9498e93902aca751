import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  createSourceEventStream,
  execute,
  getOperationAST,
} from 'graphql';
import { type Context as WsContext, MessageType, stringifyMessage } from 'graphql-ws';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import { LiveStream } from '../services/live.js';

/**
 * The subscription fields served by the lean path: their `subscribe` resolvers return a LiveStream
 * (a live topic's subscriber entry), which the path reads without an iterator chain.
 */
const LEAN_FIELDS: ReadonlySet<string> = new Set(['phoneSignInChallenges']);

/** yoga's masked message, for the one failure that cannot go through its masking. */
const UNEXPECTED = 'Unexpected error.';
/** On an event's context: how envelop runs the event (the plugin below hands it to setExecuteFn). */
const RUN_EVENT = Symbol('lean subscription event');

type Execute = (args: ExecutionArgs) => unknown;
type WsCtx = WsContext<Record<string, unknown> | undefined, { socket: WebSocket }>;
/** What the lean path needs of yoga, one for the node: an envelope for a socket's event, as for its operations. */
export interface LeanHost {
  envelope(ctx: WsCtx): { execute: Execute; schema: ExecutionArgs['schema']; contextFactory(): unknown };
}

/**
 * Whether a validated operation takes the lean path: a subscription of one lean field at the root,
 * with no variables and no directive there (so what it selects cannot depend on the request),
 * answered to a device. Anything else takes graphql-ws's and yoga's own path.
 */
export function isLeanOperation(document: DocumentNode, operationName: string | null | undefined, authKind: string): boolean {
  if (authKind !== 'device') return false;
  const operation = getOperationAST(document, operationName);
  if (operation?.operation !== 'subscription' || (operation.variableDefinitions?.length ?? 0) > 0) return false;
  const [field, ...more] = operation.selectionSet.selections;
  return field?.kind === Kind.FIELD && more.length === 0 && !field.directives?.length && LEAN_FIELDS.has(field.name.value);
}

/**
 * The envelop side of the lean path. At a lean subscription's start its source stream is made by
 * graphql's createSourceEventStream (the field's `subscribe` resolver, behind scope-auth) and kept
 * by the LeanSubscription; each event is then executed through envelop with graphql's `execute`
 * (an execute of a subscription operation runs one event: the field's `resolve` and the selection,
 * with the event as root value), so the onExecute plugins, error masking among them, apply to it.
 */
export function leanSubscriptions(): Plugin {
  return {
    onSubscribe({ args, setSubscribeFn }) {
      const lean = args.rootValue;
      if (lean instanceof LeanSubscription) setSubscribeFn((subscribeArgs) => lean.source(subscribeArgs));
    },
    onExecute({ args, setExecuteFn }) {
      const run = (args.contextValue as unknown as Record<symbol, Execute | undefined> | undefined)?.[RUN_EVENT];
      if (run) setExecuteFn(run as never);
    },
  };
}

/**
 * One phone's subscription, as graphql-ws keeps it in ctx.subscriptions: what stays for its whole
 * life is this object (its id and parsed operation, which yoga's parser cache shares) and its topic
 * entry, nothing else. Each event gets a fresh context from yoga's context factory, as a new
 * operation on the socket would, so no per-request cache (scope-auth's) outlives its event.
 *
 * graphql-ws reads a subscription with `for await` inside its message handler; here the first
 * next() returns a promise that never settles and that nothing holds, so that handler's frame,
 * its promise and the transport's callback on it are collected, and this object alone stays in
 * ctx.subscriptions. graphql-ws still refuses a second subscription with its id, counts it among
 * the socket's operations, and calls return() on a complete message or when the socket closes.
 * The rest of its loop is done here, as it does it: each event is sent as a next message, an end
 * as a complete message, a failure as an error message, and the entry is removed at the end.
 */
export class LeanSubscription implements AsyncIterableIterator<ExecutionResult> {
  /** Lean subscriptions started and not yet stopped in this process (for tests). */
  static active = 0;
  private setup?: (args: ExecutionArgs) => unknown;
  private stream?: LiveStream<unknown>;
  private state: 'starting' | 'live' | 'stopped' = 'starting';
  private readonly document: DocumentNode;
  private readonly operationName: string | null | undefined;

  constructor(
    private readonly host: LeanHost,
    private readonly ctx: WsCtx,
    private readonly id: string,
    /** Its variables are not kept: a lean operation declares none, so they are never read. */
    args: { document: DocumentNode; operationName?: string | null },
    subscribe: (args: ExecutionArgs) => unknown,
  ) {
    this.document = args.document;
    this.operationName = args.operationName;
    this.setup = subscribe;
  }

  /**
   * Starts the subscription through envelop's subscribe (its plugins' onSubscribe hooks may refuse
   * it). A refusal or a resolver's error is returned as it comes; otherwise this object is, and
   * the envelope's wrapping of the stream is dropped unread.
   */
  async subscribe(args: ExecutionArgs): Promise<unknown> {
    const subscribe = this.setup!;
    this.setup = undefined;
    const result = await subscribe(args);
    if (!this.stream) return result;
    LeanSubscription.active++;
    this.state = 'live';
    return this;
  }

  /** The source stream (see leanSubscriptions): kept, and returned for envelop's hooks. */
  async source(args: ExecutionArgs) {
    const result = await createSourceEventStream(args);
    if (Symbol.asyncIterator in result) {
      if (!(result instanceof LiveStream)) throw new Error('A lean subscription field must return a LiveStream.');
      this.stream = result;
    }
    return result;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** Called once, by graphql-ws's loop: starts the reading, and holds that loop forever (see above). */
  next(): Promise<IteratorResult<ExecutionResult>> {
    if (!this.stopped()) this.stream!.nextTo(this);
    return new Promise(() => {});
  }

  /** graphql-ws: a complete message, or the socket closed. Nothing more is sent. */
  return(): Promise<IteratorResult<ExecutionResult>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** The stream's next item (LiveReader). */
  resolve(result: IteratorResult<unknown>) {
    if (this.stopped()) return;
    if (result.done) void this.end(undefined);
    else void this.deliver(result.value);
  }

  /** The stream failed (LiveReader). */
  reject(error: unknown) {
    if (!this.stopped()) void this.end(error);
  }

  private async deliver(item: unknown) {
    try {
      const { errors, ...result } = (await this.run(item, execute as Execute)) as ExecutionResult;
      if (this.stopped()) return;
      this.send({ id: this.id, type: MessageType.Next, payload: { ...result, ...(errors ? { errors: errors.map((e) => e.toJSON()) } : {}) } });
      this.stream!.nextTo(this);
    } catch (error) {
      if (!this.stopped()) await this.end(error);
    }
  }

  /** One event, or one failure, through envelop's execute: a fresh envelope and context. */
  private async run(rootValue: unknown, executeFn: Execute): Promise<unknown> {
    const enveloped = this.host.envelope(this.ctx);
    const contextValue = (await enveloped.contextFactory()) as Record<symbol, Execute>;
    contextValue[RUN_EVENT] = executeFn;
    const { document, operationName } = this;
    return enveloped.execute({ schema: enveloped.schema, document, operationName, rootValue, contextValue });
  }

  /**
   * The end of the stream, or its failure: what graphql-ws's loop sends then. A failure is wrapped
   * as graphql-tools' executor wraps a source error (with the operation as its node), masked by
   * the plugins that mask a failed subscription (run here as an execute that answers with it),
   * then wrapped as graphql-ws wraps an error its loop caught.
   */
  private async end(error: unknown) {
    this.stop();
    const { ctx, id } = this;
    if (ctx.subscriptions[id] !== this) return;
    if (error === undefined) this.send({ id, type: MessageType.Complete });
    else {
      const operation = getOperationAST(this.document, this.operationName) as OperationDefinitionNode;
      const wrap = (e: Error) => new GraphQLError(e.message, { originalError: e, nodes: [operation] });
      const source = error instanceof AggregateError ? new AggregateError(error.errors.map(wrap), error.message) : wrap(error as Error);
      // Should the envelope itself fail, the client still learns that its subscription ended, in no more words than masking allows.
      const { errors } = (await this.run(undefined, () => ({ errors: [source] })).catch(() => ({ errors: [new GraphQLError(UNEXPECTED)] }))) as ExecutionResult;
      const masked: unknown = errors?.[0] ?? source;
      const original = masked instanceof Error ? masked : new Error(String(masked));
      this.send({ id, type: MessageType.Error, payload: [new GraphQLError(original.message, { originalError: original }).toJSON()] });
    }
    if (ctx.subscriptions[id] === this) delete ctx.subscriptions[id];
  }

  private stopped() {
    return this.state === 'stopped';
  }

  private stop() {
    if (this.state === 'live') LeanSubscription.active--;
    this.state = 'stopped';
    void this.stream?.return();
  }

  private send(message: Parameters<typeof stringifyMessage>[0]) {
    const { socket } = this.ctx.extra;
    if (socket.readyState === socket.OPEN) socket.send(stringifyMessage(message));
  }
}
