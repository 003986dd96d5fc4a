import fs from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';

/**
 * Where the page lives: `src/dashboard` of the repository, found from this compiled file, or
 * undefined when this install lacks it (an image that copied only dist/).
 */
function dashboardDir(): string | undefined {
  // dist/src/app (or any outDir) holds only compiled TypeScript: walk up to the folder that has
  // the page's sources, so the same code serves it from dist/ and from a checkout.
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'src', 'dashboard');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
  }
  return undefined;
}

/** uPlot's browser build and stylesheet, from node_modules like the IDE's assets. */
const UPLOT_FILES: Record<string, string> = {
  'uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

/**
 * Everything comes from this server, so the page works with no internet access; the CSP
 * says so to the browser too. The API key never reaches the server in a URL: the page reads it
 * from its own field or the URL fragment and sends it in the Authorization header.
 */
const CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The dashboard: runs with live status and metric curves, a curriculum's rounds, a checkpoint's
 * pass-rate histogram. A static page under /dashboard that talks to /graphql and
 * /graphql/stream (graphql-sse) with the user's API key.
 */
export function mountDashboard(app: Express): void {
  const dir = dashboardDir();
  if (!dir) {
    // The API works without its page; say why the page is missing rather than failing to start.
    app.use('/dashboard', (_req, res) => {
      res
        .status(404)
        .type('text')
        .send('The dashboard is not installed: src/dashboard is missing.');
    });
    return;
  }
  const security = (_req: express.Request, res: express.Response, next: express.NextFunction) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  };
  app.get('/dashboard', (req, res, next) => {
    // Relative asset URLs in the page need the trailing slash.
    if (!req.originalUrl.split('?')[0].endsWith('/')) {
      res.redirect(301, '/dashboard/');
      return;
    }
    next();
  });
  app.get('/dashboard/vendor/:file', security, (req, res, next) => {
    const file = UPLOT_FILES[String(req.params.file)];
    if (!file) return next();
    res.sendFile(file, { maxAge: '1h' });
  });
  app.use('/dashboard', security, express.static(dir, { index: 'index.html', maxAge: 0 }));
}
