/** `runs watch`'s options, taken alike by every `--watch` (start, retry). */
import { intOption } from '../args';

export interface WatchOptions {
  logs?: boolean;
  plain?: boolean;
  poll?: boolean;
  reconnectTimeoutSeconds?: number;
}

export const WATCH_FLAGS = {
  logs: { type: 'boolean', default: false },
  plain: { type: 'boolean', default: false },
  poll: { type: 'boolean', default: false },
  'reconnect-timeout': { type: 'string' },
} as const;

export function watchOptions(values: {
  logs?: boolean;
  plain?: boolean;
  poll?: boolean;
  'reconnect-timeout'?: string;
}): WatchOptions {
  return {
    logs: values.logs,
    plain: values.plain,
    poll: values.poll,
    reconnectTimeoutSeconds: intOption(values['reconnect-timeout'], 'reconnect-timeout', 1),
  };
}
