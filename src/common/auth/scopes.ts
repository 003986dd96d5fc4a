import { registerEnumType } from 'type-graphql';

/**
 * What an API key may do. Here, beside the principal that carries them, because every layer
 * authorises with them; the api-keys module stores them on its rows.
 */
export enum ApiKeyScope {
  READ = 'READ',
  WRITE = 'WRITE',
  ADMIN = 'ADMIN',
  RUNNER = 'RUNNER',
}
registerEnumType(ApiKeyScope, {
  name: 'ApiKeyScope',
  description: 'READ: queries; WRITE: also mutations; ADMIN: also keys; RUNNER: one run only.',
});
