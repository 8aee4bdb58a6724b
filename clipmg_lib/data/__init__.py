"""iMiGUE data layer: classes, splits, joint layouts, readers, clip index, video clips, the H.264 writer."""
