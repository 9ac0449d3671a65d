// Which Debian (bookworm) package provides a Python distribution a servable declares, so a machine
// with no network can still build a base image that has it (resources/base-image/build.sh installs
// them with debootstrap from the machine's own mirror).
import type { PythonDependencies } from '../servable/metadata.js';

/** Python distribution (normalised) -> the Debian package that provides it. One table for every framework. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  torch: 'python3-torch',
  torchvision: 'python3-torchvision',
  torchaudio: 'python3-torchaudio',
  onnx: 'python3-onnx',
  pillow: 'python3-pil',
  'scikit-image': 'python3-skimage',
  scipy: 'python3-scipy',
  pandas: 'python3-pandas',
  h5py: 'python3-h5py',
  matplotlib: 'python3-matplotlib',
  networkx: 'python3-networkx',
  sympy: 'python3-sympy',
  pyyaml: 'python3-yaml',
  requests: 'python3-requests',
  ase: 'python3-ase',
  pymatgen: 'python3-pymatgen',
  tqdm: 'python3-tqdm',
  imageio: 'python3-imageio',
  tifffile: 'python3-tifffile',
  xgboost: 'python3-xgboost',
  rdkit: 'python3-rdkit',
  biopython: 'python3-biopython',
  numba: 'python3-numba',
  statsmodels: 'python3-statsmodels',
  seaborn: 'python3-seaborn',
  dill: 'python3-dill',
  cloudpickle: 'python3-cloudpickle',
  xarray: 'python3-xarray',
  netcdf4: 'python3-netcdf4',
  sentencepiece: 'python3-sentencepiece',
};

/** Distributions the default Debian base already has (build.sh's own package list). */
export const BASE_DISTRIBUTIONS: readonly string[] = ['numpy', 'scikit-learn', 'sklearn', 'joblib'];

/** Frameworks Debian does not package: a servable needing one must use an image that has it, or pip. */
export const NOT_IN_DEBIAN: Readonly<Record<string, string>> = {
  onnxruntime: 'Debian has no onnxruntime package',
  'onnxruntime-gpu': 'Debian has no onnxruntime package',
  tensorflow: 'Debian has no TensorFlow package',
  keras: 'Debian has no Keras package (it comes with TensorFlow)',
  jax: 'Debian has no JAX package',
  transformers: 'Debian has no transformers package',
};

/** PEP 503 normal form of a distribution name: lower case, runs of "-", "_", "." as one "-". */
export function normalizeDistribution(name: string): string {
  return name.trim().toLowerCase().replace(/[-_.]+/g, '-');
}

/** What the table makes of a servable's Python dependencies. */
export interface DebianPlan {
  /** Debian packages the default base lacks, sorted and unique (build.sh's DLHUB_BASE_PACKAGES). */
  packages: string[];
  /** Declared distributions with no Debian package here, each with why (Debian lacks it), or undefined when merely unknown. */
  unmapped: { name: string; why: string | undefined }[];
}

/** The Debian packages a base image needs beyond the default one to provide `deps`. */
export function debianPlan(deps: PythonDependencies): DebianPlan {
  const packages = new Set<string>();
  const unmapped: DebianPlan['unmapped'] = [];
  for (const raw of Object.keys(deps)) {
    const name = normalizeDistribution(raw);
    if (BASE_DISTRIBUTIONS.includes(name)) continue;
    const pkg = DEBIAN_PACKAGES[name];
    if (pkg !== undefined) packages.add(pkg);
    else unmapped.push({ name: raw, why: NOT_IN_DEBIAN[name] });
  }
  return { packages: [...packages].sort(), unmapped };
}
