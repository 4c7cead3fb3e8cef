/** One ask waiting in a batch: what to ask for, and how to answer it. */
export interface BatchItem<Id, Answer> {
  id: Id;
  /** Answers the ask; later calls are ignored. */
  settle(answer: Answer): void;
  readonly settled: boolean;
}

interface Group<G, Id, Answer> {
  group: G;
  items: BatchItem<Id, Answer>[];
}

/**
 * Collects asks made in one turn of the event loop into groups (one per ECR call target: lane,
 * operation, registry, repository), then hands each group to `send` in chunks of at most `chunkSize`
 * (ECR takes at most 100 image IDs, or 100 repository names, per call). `setImmediate`, not a
 * microtask: asks made across a chain of awaits in the same turn still share a batch.
 *
 * `send` must settle every item; an item it leaves unsettled, or a `send` that throws, answers
 * `onLost` instead, so no ask ever waits forever.
 */
export class Batcher<G, Id, Answer> {
  readonly #chunkSize: number;
  readonly #send: (group: G, items: BatchItem<Id, Answer>[]) => Promise<void>;
  readonly #onLost: (err: unknown) => Answer;
  #pending = new Map<string, Group<G, Id, Answer>>();
  #scheduled = false;

  constructor(options: {
    chunkSize: number;
    send: (group: G, items: BatchItem<Id, Answer>[]) => Promise<void>;
    onLost: (err: unknown) => Answer;
  }) {
    this.#chunkSize = options.chunkSize;
    this.#send = options.send;
    this.#onLost = options.onLost;
  }

  ask(key: string, group: G, id: Id): Promise<Answer> {
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = { group, items: [] };
      this.#pending.set(key, pending);
    }
    const { promise, resolve } = Promise.withResolvers<Answer>();
    let settled = false;
    pending.items.push({
      id,
      settle(answer) {
        settled = true;
        resolve(answer);
      },
      get settled() {
        return settled;
      },
    });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return promise;
  }

  #flush(): void {
    this.#scheduled = false;
    const groups = this.#pending;
    this.#pending = new Map();
    for (const { group, items } of groups.values()) {
      for (let i = 0; i < items.length; i += this.#chunkSize) {
        const chunk = items.slice(i, i + this.#chunkSize);
        const settleLost = (err: unknown) => {
          for (const item of chunk) if (!item.settled) item.settle(this.#onLost(err));
        };
        this.#send(group, chunk).then(
          () => settleLost(new Error('a batch left an ask unanswered')),
          settleLost,
        );
      }
    }
  }
}
