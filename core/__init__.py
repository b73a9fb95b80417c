"""The add-on's logic that needs no bpy: tested without Blender."""
