"""screening: DFT screening of host–guest binding and ion-migration barriers in battery electrolytes."""

__version__ = "0.1.0"
