/**
 * The launchers by name: `createLauncher('local' | 'slurm' | 'kubernetes', options)`.
 */
import type { Launcher } from './launcher';
import { LocalLauncher, type LocalLauncherOptions } from './local.launcher';
import { SlurmLauncher, type SlurmLauncherOptions } from './slurm.launcher';
import { KubernetesLauncher, type KubernetesLauncherOptions } from './kubernetes.launcher';

export * from './launcher';
export { LocalLauncher, type LocalLauncherOptions } from './local.launcher';
export { SlurmLauncher, type SlurmLauncherOptions } from './slurm.launcher';
export {
  KubernetesLauncher,
  type KubernetesLauncherOptions,
  buildJob,
} from './kubernetes.launcher';

export const LAUNCHER_NAMES = ['local', 'slurm', 'kubernetes'] as const;
export type LauncherName = (typeof LAUNCHER_NAMES)[number];

export interface LauncherOptionsByName {
  local: LocalLauncherOptions;
  slurm: SlurmLauncherOptions;
  kubernetes: KubernetesLauncherOptions;
}

export interface LauncherByName {
  local: LocalLauncher;
  slurm: SlurmLauncher;
  kubernetes: KubernetesLauncher;
}

export function createLauncher(name: 'local', options?: LocalLauncherOptions): LocalLauncher;
export function createLauncher(name: 'slurm', options?: SlurmLauncherOptions): SlurmLauncher;
export function createLauncher(
  name: 'kubernetes',
  options: KubernetesLauncherOptions,
): KubernetesLauncher;
export function createLauncher<N extends LauncherName>(
  name: N,
  options: LauncherOptionsByName[N],
): LauncherByName[N];
export function createLauncher(name: LauncherName, options?: unknown): Launcher {
  switch (name) {
    case 'local':
      return new LocalLauncher(options as LocalLauncherOptions | undefined);
    case 'slurm':
      return new SlurmLauncher(options as SlurmLauncherOptions | undefined);
    case 'kubernetes':
      if (!options) throw new Error("the 'kubernetes' launcher needs options (at least image)");
      return new KubernetesLauncher(options as KubernetesLauncherOptions);
    default:
      throw new Error(`unknown launcher '${String(name)}' (one of ${LAUNCHER_NAMES.join(', ')})`);
  }
}
