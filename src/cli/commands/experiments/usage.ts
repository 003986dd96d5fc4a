export const EXPERIMENTS_USAGE = `Usage:
  stagewise experiments list [--status ACTIVE|PAUSED|SUCCEEDED|CANCELLED] [--json]
  stagewise experiments status ID [--json]

experiments status prints one line per arm: seeds done, mean held-out greedy accuracy with its
95% interval over seeds, accuracy per difficulty level, compute used (and planned) in tokens, and
the exact McNemar p-value of the best arm against it. Create experiments with the
createExperiment mutation.`;
