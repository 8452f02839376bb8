// Press et al. 2007, "Numerical Recipes" 3rd ed., §6.2 (erfc by Chebyshev fit, fractional error < 1.2e-7).
/**
 * Log-density and log-CDF of a normal distribution, in float64 and without underflow far in the
 * tails (LiRA's likelihoods reach z-scores of 30 and more on overfit models).
 */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log erfc(x) for x ≥ 0, computed in the log domain so it never underflows. */
function logErfcNonNegative(x: number): number {
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - x * x + poly;
}

/** log N(x; mean, std²). */
export function logNormalPdf(x: number, mean: number, std: number): number {
  const z = (x - mean) / std;
  return -0.5 * z * z - Math.log(std) - LOG_SQRT_2PI;
}

/** log Φ(z) for the standard normal CDF Φ. */
export function logStandardNormalCdf(z: number): number {
  if (z <= 0) return Math.log(0.5) + logErfcNonNegative(-z / Math.SQRT2);
  return Math.log1p(-0.5 * Math.exp(logErfcNonNegative(z / Math.SQRT2)));
}
