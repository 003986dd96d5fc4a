import type { Express } from 'express';
import { ruruHTML } from 'ruru/server';
import { serveStatic } from 'ruru/static';

const STATIC_PATH = '/ide-assets/';
type ClientConfig = NonNullable<Parameters<typeof ruruHTML>[0]['clientConfig']>;

/**
 * A GraphQL IDE (Ruru, a GraphiQL distribution) served entirely from this server: it works with
 * no internet access. The Authorization header is pre-filled for the user to complete.
 */
export function mountIde(app: Express): void {
  const html = ruruHTML({
    endpoint: '/graphql',
    staticPath: STATIC_PATH,
    // ruru's types mark every client option required; it treats them as optional.
    clientConfig: {
      initialHeaders: JSON.stringify({ Authorization: 'Bearer <paste your API key>' }, null, 2),
      isHeadersEditorEnabled: true,
      defaultQuery: `# stagewise: a GraphQL API for reasoning data.\n# Put your API key in the Headers tab below, then run:\n{\n  datasets(first: 10) {\n    nodes { id name split }\n    pageInfo { hasNextPage endCursor }\n  }\n}\n`,
    } as unknown as ClientConfig,
  });
  app.use(serveStatic(STATIC_PATH));
  app.get(['/', '/graphql'], (req, res, next) => {
    if (req.query.query !== undefined) return next();
    res.type('html').send(html);
  });
}
