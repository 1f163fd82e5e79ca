import { createInterface } from 'node:readline';

/** Questions to the technician, one line each; a script or a test can answer them from a pipe. */
export interface Prompter {
  /** Asks until `validate` accepts the answer; an empty answer takes the default. */
  ask(
    question: string,
    options?: { default?: string; validate?: (answer: string) => string | undefined },
  ): Promise<string>;
  confirm(question: string, defaultYes: boolean): Promise<boolean>;
  choose<T extends string>(question: string, choices: readonly T[], defaultChoice: T): Promise<T>;
  say(text: string): void;
  close(): void;
}

export class InputEndedError extends Error {
  override name = 'InputEndedError';
}

/**
 * Prompts on `output`, answers from `input` line by line. Lines that arrive before their question
 * is asked are queued, not lost (readline drops them), so answers piped in advance work too.
 */
export function linePrompter(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Prompter {
  const rl = createInterface({ input, terminal: false });
  const queued: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  let ended = false;
  rl.on('line', (line) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(line);
    } else queued.push(line);
  });
  rl.on('close', () => {
    ended = true;
    waiting?.(undefined);
    waiting = undefined;
  });
  const nextLine = (): Promise<string | undefined> => {
    if (queued.length > 0) return Promise.resolve(queued.shift());
    if (ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (waiting = resolve));
  };
  const write = (s: string): void => void output.write(s);

  const ask: Prompter['ask'] = async (question, options = {}) => {
    for (;;) {
      write(`? ${question}${options.default !== undefined && options.default !== '' ? ` [${options.default}]` : ''}: `);
      const line = await nextLine();
      if (line === undefined) {
        write('\n');
        throw new InputEndedError(`input ended before an answer to "${question}"`);
      }
      const answer = line.trim() === '' ? (options.default ?? '') : line.trim();
      const problem = options.validate?.(answer);
      if (problem === undefined) return answer;
      write(`  ✗ ${problem}\n`);
    }
  };
  return {
    ask,
    async confirm(question, defaultYes) {
      const a = await ask(`${question} (y/n)`, {
        default: defaultYes ? 'y' : 'n',
        validate: (v) => (/^(y|yes|j|ja|n|no|nee)$/i.test(v) ? undefined : 'answer y or n'),
      });
      return /^(y|yes|j|ja)$/i.test(a);
    },
    async choose(question, choices, defaultChoice) {
      const a = await ask(`${question} (${choices.join('/')})`, {
        default: defaultChoice,
        validate: (v) => (choices.includes(v as (typeof choices)[number]) ? undefined : `one of ${choices.join(', ')}`),
      });
      return a as (typeof choices)[number];
    },
    say(text) {
      write(`${text}\n`);
    },
    close() {
      rl.close();
    },
  };
}
