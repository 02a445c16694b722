/** Replica colours, distinguishable side by side on the ring (Okabe–Ito, then a few more). */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#7F7F7F', '#8C564B', '#17BECF', '#BCBD22', '#9467BD'];

export const replicaColor = (index: number): string => PALETTE[index % PALETTE.length]!;
