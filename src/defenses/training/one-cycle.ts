// Smith & Topin 2019, "Super-Convergence: Very Fast Training of Neural Networks Using Large Learning Rates" (one-cycle policy).
/**
 * One-cycle learning rate as Wong, Rice & Kolter 2020 use it for fast adversarial training:
 * linear from 0 to `peak` over the first 2/5 of the run, then linear back to 0 at the end.
 * `progress` is the fractional epoch (0 at the start, `epochs` at the end), as the training loop passes it.
 */
export function oneCycleLearningRate(peak: number): (progress: number, epochs: number) => number {
  return (progress, epochs) => {
    const top = (2 / 5) * epochs;
    const lr = progress <= top ? (peak * progress) / top : (peak * (epochs - progress)) / (epochs - top);
    return Math.max(0, lr);
  };
}
