"""circle15 maps: folium pages for planners and couriers, working offline."""
