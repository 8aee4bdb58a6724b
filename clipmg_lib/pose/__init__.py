"""Skeleton processing: mediapipe extraction, composable transforms, heatmap volumes."""
