// Types for duplicate-packages.mjs (plain JS, run by build.mjs without a
// compile step), so the TypeScript tests can import it.

/** A package name whose files a bundle takes from more than one directory. */
export interface DuplicatePackage {
  name: string;
  dirs: string[];
}

export function packageDirs(
  inputs: Record<string, unknown>
): Map<string, string[]>;
export function duplicatePackages(
  inputs: Record<string, unknown>
): DuplicatePackage[];
export function duplicatesMessage(duplicates: DuplicatePackage[]): string;
