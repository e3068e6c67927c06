"""What every synthetic renderer shares: the source base class, rasteriser, textures, placement, COCO export."""
