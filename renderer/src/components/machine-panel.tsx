// Settings: what `doctor` finds on this machine (CPUs, RAM, free disk, NVIDIA GPUs), the figures
// `fit` weighs a servable's declared resources against.
import { useEffect } from 'react';
import { useApp } from './context.js';
import { ErrorBox } from './error-box.js';

/** Bytes in a unit a person reads (GiB for RAM and disk). */
export function sizeText(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

/** This machine as `doctor` reports it. */
export function MachinePanel() {
  const doctor = useApp((x) => x.clusters, (s) => s.doctor);
  const error = useApp((x) => x.clusters, (s) => s.doctorError);
  const loadDoctor = useApp((x) => x.clusters, (s) => s.loadDoctor);
  useEffect(() => {
    void loadDoctor();
  }, []);
  return (
    <div data-testid="machine">
      <h2>This machine</h2>
      {error ? <ErrorBox error={error} title="What this machine offers could not be read" /> : null}
      {doctor ? (
        <table className="limits machine" data-testid="doctor">
          <tbody>
            <tr><th scope="row">System</th><td>{doctor.platform}</td></tr>
            <tr><th scope="row">CPU cores</th><td data-testid="doctor-cpus">{doctor.cpus}</td></tr>
            <tr><th scope="row">RAM</th><td>{sizeText(doctor.memoryBytes)} <span className="muted">({sizeText(doctor.memoryAvailableBytes)} available)</span></td></tr>
            <tr><th scope="row">Free disk</th><td>{sizeText(doctor.disk.freeBytes)} of {sizeText(doctor.disk.totalBytes)} <span className="muted">in {doctor.disk.path}</span></td></tr>
            <tr>
              <th scope="row">GPUs</th>
              <td data-testid="doctor-gpus">
                {doctor.gpus.length === 0 ? <>None <span className="muted small">({doctor.gpuProbe})</span></> : (
                  <ul className="plain">
                    {doctor.gpus.map((g) => <li key={g.index}>{g.index}: {g.name}, {sizeText(g.memoryBytes)}{g.driver ? <span className="muted"> · driver {g.driver}</span> : null}</li>)}
                  </ul>
                )}
                {doctor.gpus.length > 0 && doctor.dockerGpu === false ? <div className="muted small">Docker has no NVIDIA runtime: only the host runtime can use the GPU.</div> : null}
              </td>
            </tr>
          </tbody>
        </table>
      ) : error ? null : <p className="muted">Looking at this machine…</p>}
      <p className="muted small">A servable that declares a GPU, memory or CPUs (<code>dlhub.resources</code>) is checked against these; <code>dlhub doctor</code> prints the same.</p>
    </div>
  );
}
