"""iMiGUE data layer: classes, splits, joint layouts, readers, clip index, video clips, demo generator."""
