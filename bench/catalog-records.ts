import type { ArgumentType, ServableMetadata } from '../main/servable/metadata.js';

/** Small seeded PRNG (mulberry32), so a generated catalog is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = `
adsorption alloy anomaly atom atomistic band bandgap battery bayesian binding bioactivity biomarker catalyst cathode cell
channel chemistry classification climate cluster coarse composition compound conductivity convolutional crystal crystallography
deep defect density descriptor detection diffraction diffusion dislocation docking dynamics elastic electrolyte electron
embedding energy ensemble enzyme equation estimation exciton feature fluid force formation fracture galaxy gaussian gene
genome gradient grain graph hamiltonian heat image imaging inference interatomic ionic kernel kinetics lattice layer learning
ligand lithium magnetic mass material materials mechanics membrane metal microscopy microstructure model molecular molecule
morphology network neural neutron nucleation optical orbital oxide particle perovskite phase phonon photon physics plasma
polymer porosity potential prediction protein quantum radiation reaction recognition regression reinforcement representation
resolution scattering segmentation semiconductor sequence signal simulation solar solubility solvent spectra spectroscopy
stability strain stress structure superconductor surface synthesis temperature tensor thermal thermodynamic tomography
toxicity trajectory transfer transformer transition transport tumor turbulence uncertainty vibration viscosity voltage
wavefunction x-ray yield zeolite forecasting seismic cosmology astronomy spectrum photometry redshift supernova weather
precipitation ocean satellite hydrology genomics proteomics metabolomics pathology radiology histology cancer drug
`.trim().split(/\s+/);

const DOMAINS = ['materials science', 'chemistry', 'physics', 'biology', 'genomics', 'astronomy', 'climate', 'medicine',
  'neuroscience', 'engineering', 'energy', 'geoscience', 'high energy physics', 'microscopy', 'machine learning', 'cosmology'];

const KINDS = [
  { type: 'Keras Model', shim: 'keras.KerasServable', model: 'model.h5' },
  { type: 'Scikit-learn estimator', shim: 'sklearn.ScikitLearnServable', model: 'model.pkl' },
  { type: 'Torch Model', shim: 'torch.TorchServable', model: 'model.pt' },
  { type: 'ONNX Model', shim: 'onnx.ONNXServable', model: 'model.onnx' },
  { type: 'Python static method', shim: 'python.PythonStaticMethodServable', model: null },
  { type: 'TensorFlow Model', shim: 'tensorflow.TensorFlowServable', model: null },
];

const FAMILY = ['Ward', 'Blaiszik', 'Chard', 'Foster', 'Li', 'Wang', 'Zhang', 'Smith', 'Garcia', 'Müller', 'Nguyen', 'Kim', 'Patel',
  'Rossi', 'Novak', 'Silva', 'Tanaka', 'Okafor', 'Schmidt', 'Johnson', 'Lopez', 'Chen', 'Curie', 'Brown', 'Davis', 'Martin', 'Ivanova',
  'Haddad', 'Kowalski', 'Andersen', 'Costa', 'Sato', 'Singh', 'Moreau', 'Fischer', 'Dubois', 'Park', 'Yilmaz', 'Mensah', 'Olsen'];
const GIVEN = ['Logan', 'Ben', 'Kyle', 'Ian', 'Marie', 'Ana', 'Wei', 'Yuki', 'Priya', 'Omar', 'Lena', 'Carlos', 'Fatima', 'John',
  'Sofia', 'Ryan', 'Mei', 'David', 'Aisha', 'Lukas', 'Elena', 'Hiro', 'Zara', 'Noah', 'Ines', 'Tomás', 'Grace', 'Ravi'];

const METHODS = ['run', 'predict', 'predict_proba', 'transform', 'featurize', 'classify', 'segment', 'embed'];

function argument(kind: string): ArgumentType {
  switch (kind) {
    case 'ndarray': return { type: 'ndarray', shape: [null, 4], description: 'rows of features' };
    case 'list': return { type: 'list', item_type: { type: 'string' }, description: 'items to process' };
    case 'dict': return { type: 'dict', properties: { value: { type: 'float' } } };
    case 'tuple': return { type: 'tuple', element_types: [{ type: 'string' }, { type: 'integer' }] };
    default: return { type: kind as ArgumentType['type'] };
  }
}
const ARG_KINDS = ['ndarray', 'ndarray', 'string', 'list', 'dict', 'file', 'float', 'integer', 'tuple', 'python object', 'boolean'];

/** Generate `n` realistic, schema-valid records: about 1 servable in 4 has several versions. */
export function generateRecords(n: number, seed = 42): ServableMetadata[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const words = (k: number): string[] => Array.from({ length: k }, () => pick(WORDS));
  const out: ServableMetadata[] = [];
  let serial = 0;
  while (out.length < n) {
    serial++;
    const kind = pick(KINDS);
    const owner = `${pick(GIVEN)}${pick(FAMILY)}`.toLowerCase().normalize('NFD').replace(/[^a-z]/g, '');
    const title = words(3 + Math.floor(r() * 5));
    const name = `${title.slice(0, 2).join('-').replace(/[^a-z0-9-]/g, '')}-${serial.toString(36)}`;
    const creators = Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({ creatorName: `${pick(FAMILY)}, ${pick(GIVEN)}` }));
    const domains = [...new Set(Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(DOMAINS)))];
    const methodNames = [...new Set(Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(METHODS)))];
    const nVersions = r() < 0.25 ? 2 + Math.floor(r() * 3) : 1;
    const baseYear = 2015 + Math.floor(r() * 9);
    for (let v = 0; v < nVersions && out.length < n; v++) {
      const year = Math.min(2025, baseYear + v);
      const date = Date.UTC(year, Math.floor(r() * 12), 1 + Math.floor(r() * 28));
      const methods = Object.fromEntries(methodNames.map((m) => [m, {
        description: `${m} on ${words(3).join(' ')}`,
        input: argument(pick(ARG_KINDS)),
        output: argument(pick(ARG_KINDS)),
        method_details: kind.model ? { method_name: m } : { method_name: m, module: 'app' },
      }]));
      out.push({
        datacite: {
          titles: [{ title: title.map((w, i) => (i === 0 ? w[0]?.toUpperCase() + w.slice(1) : w)).join(' ') }],
          creators,
          publicationYear: String(year),
          publisher: 'DLHub',
          resourceType: { resourceTypeGeneral: 'InteractiveResource' },
          descriptions: [{ description: `${words(15 + Math.floor(r() * 25)).join(' ')}.`, descriptionType: 'Abstract' }],
          ...(r() < 0.6 ? { identifier: { identifier: `10.26311/dlhub.${serial}.${v}`, identifierType: 'DOI' as const } } : {}),
          ...(r() < 0.4 ? { subjects: words(2).map((subject) => ({ subject })) } : {}),
        },
        dlhub: {
          name,
          owner,
          version: `${1 + v}.${Math.floor(r() * 3)}.0`,
          type: 'servable',
          domains,
          visible_to: ['public'],
          publication_date: date,
          ...(kind.model ? { files: { model: kind.model } } : {}),
        },
        servable: { type: kind.type, shim: kind.shim, methods, ...(kind.shim.startsWith('sklearn') ? { model_type: pick(['RandomForestRegressor', 'GaussianProcessRegressor', 'KernelRidge', 'MLPClassifier']) } : {}) },
      });
    }
  }
  return out;
}
