export const CURRICULA_USAGE = `Usage:
  stagewise curricula create --name NAME --dataset NAME_OR_ID [--dataset ...]
                             --eval-dataset NAME_OR_ID [--eval-dataset ...] --base CHECKPOINT_ID
                             --policy POLICY_ID [--rounds 2] [--stage-configs JSON]
                             [--launcher local|slurm|kubernetes] [--no-auto-advance] [--json]
  stagewise curricula list [--status ACTIVE|PAUSED|SUCCEEDED|CANCELLED] [--json]
  stagewise curricula status ID [--json]
  stagewise curricula watch ID [--quiet] [--plain] [--reconnect-timeout 120]
  stagewise curricula advance ID | resume ID | cancel ID [--json]

curricula create prints the new curriculum's id on stdout. --stage-configs is the config of its
runs per stage, e.g. '{"SFT": {"steps": 150, "lr": 1e-5}, "RL": {"steps": 40}}' (PROBE's k and
temperature come from the policy). Without --no-auto-advance it starts its first PROBE within
seconds; with it, it moves only on \`curricula advance ID\`.
curricula status prints one line per round: start -> end checkpoint, samples per stage, moves
since the last round, bridged traces, critique yield, eval accuracy against the base checkpoint.
curricula watch prints each phase change (and its runs' progress, but with --quiet) and exits
with the curriculum's outcome: 0 SUCCEEDED, 1 PAUSED (the reason is printed), 2 CANCELLED,
3 usage or connection error (no server, wrong key, unknown curriculum, connection lost for longer
than --reconnect-timeout seconds).`;
