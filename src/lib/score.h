/* score.h: turning improbability into a calibrated score.
 *
 * Every detector reports the p-value of what it saw; the score is one fixed,
 * monotone map of it, so a threshold means the same false-alarm rate on
 * every series and for every detector. */
#ifndef AN_SCORE_H
#define AN_SCORE_H

/* Two-sided tail probability of a standard normal deviation z: the chance
 * of |Z| >= |z|. 1 for z = 0, 0 for infinite z; NaN gives 1. */
double an_normal_two_sided_p(double z);

/* The score of a p-value: 0 for p >= 1e-2, rising to 1 as p falls to 0.
 * score = 1 - 10^(-(S - 2) / 8) with S = -log10(p), so 0.5 is p ~ 3.9e-5,
 * 0.7 is p ~ 6.6e-7, 0.85 is p ~ 2.6e-9 and 0.95 is p ~ 4e-13. */
double an_score_from_p(double p);

/* an_score_from_p() of p = 10^-surprise, for a caller that has the
 * surprise already (infinite: 1). */
double an_score_from_surprise(double surprise);

/* The inverse of an_score_from_p(), for documentation and tests. */
double an_p_from_score(double score);

#endif
