export const EXPERIMENTS_USAGE = `Usage:
  stagewise experiments create --name NAME --train NAME_OR_ID [--train ...]
                               --eval NAME_OR_ID [--eval ...] --base CHECKPOINT_ID
                               --arms ARM[,ARM...] --budget TOKENS [--seeds 3]
                               [--policy POLICY_ID] [--rounds 2] [--stage-configs JSON]
                               [--launcher local|slurm|kubernetes] [--json]
  stagewise experiments list [--status ACTIVE|PAUSED|SUCCEEDED|CANCELLED] [--json]
  stagewise experiments status ID [--json]
  stagewise experiments watch ID [--reconnect-timeout 120]
  stagewise experiments cancel ID [--json]

experiments create prints the new experiment's id on stdout and starts its runs. Arms:
STAGEWISE, SFT_ALL, DISTILL_RAW, RL_ONLY, SFT_THEN_RL, NO_BRIDGE, NO_CRITIQUE, NO_ROUTING_RL;
the method's (STAGEWISE, NO_*) need --policy. --budget is the tokens through the model each arm
may use per seed; --stage-configs the config of its runs per stage, e.g.
'{"SFT": {"lr": 1e-5}, "EVAL": {"max_new_tokens": 32}}' (steps are sized to the budget).
experiments status prints one line per arm: seeds done, mean held-out greedy accuracy with its
95% interval over seeds, accuracy per difficulty level, compute used (and planned) in tokens, and
the exact McNemar p-value of the best arm against it.
experiments watch prints each change of the experiment's status and of each arm's progress, then
the status table, and exits with the outcome: 0 SUCCEEDED, 1 PAUSED (the reason is printed),
2 CANCELLED, 3 usage or connection error (no server, wrong key, unknown experiment, connection
lost for longer than --reconnect-timeout seconds). Ctrl-C stops watching, not the experiment.
experiments cancel cancels an ACTIVE or PAUSED experiment with its live runs and curricula;
nothing more starts for it, and the finished seeds' results stay.`;
