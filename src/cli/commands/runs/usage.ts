export const RUNS_USAGE = `Usage:
  stagewise runs start --stage SFT|PROBE|RL|EVAL --dataset NAME [--config JSON]
                       [--checkpoint ID] [--producer builtin-teacher-explicit] [--limit N]
                       [--launcher local|slurm|kubernetes] [--watch WATCH_OPTIONS]
  stagewise runs list [--status RUNNING,FAILED,...] [--stage SFT] [--json]
  stagewise runs watch ID [WATCH_OPTIONS]
  stagewise runs cancel ID
  stagewise runs retry ID [--watch WATCH_OPTIONS]

WATCH_OPTIONS: [--logs] [--plain] [--poll] [--reconnect-timeout 120]; the same wherever a run
is watched (--plain: one line per event, no redrawn bar, even on a terminal).

runs start prints the new run's id on stdout. runs watch exits with the run's outcome:
0 SUCCEEDED, 1 FAILED, 2 CANCELLED, 3 usage or connection error (no server, wrong key,
unknown run, connection lost for longer than --reconnect-timeout seconds, default 120).`;
