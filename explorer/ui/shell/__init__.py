"""Services every view shares: the ModelSession, the render thread, the Job runner, the export
job. Imports no view.
"""
